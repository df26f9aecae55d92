module github.com/ozanturksever/go-cluster/sdk-go

go 1.26
