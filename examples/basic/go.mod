module github.com/ozanturksever/go-cluster/examples/basic

go 1.26

require github.com/ozanturksever/go-cluster/sdk-go v0.0.0

replace github.com/ozanturksever/go-cluster/sdk-go => ../../sdk-go
